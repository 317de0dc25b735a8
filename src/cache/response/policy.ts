/**
 * Works out, once per distinct document, whether an operation is cacheable and whose it is:
 * PRIVATE when it touches any field or type declared `@cacheControl(scope: PRIVATE)`, PUBLIC
 * otherwise. Memoised on the parsed document (yoga reuses one DocumentNode per query string).
 */
import {
  getNamedType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';

export type Scope = 'PUBLIC' | 'PRIVATE';
export type OperationPolicy = { kind: 'query' | 'mutation' | 'subscription' | 'none'; scope: Scope };

function declaredPrivate(directives: readonly DirectiveNode[] | undefined): boolean {
  return (directives ?? []).some(
    (d) =>
      d.name.value === 'cacheControl' &&
      d.arguments?.some((a) => a.name.value === 'scope' && a.value.kind === Kind.ENUM && a.value.value === 'PRIVATE'),
  );
}

/** Type names and field coordinates declared PRIVATE in the SDL. */
export function privateCoordinates(schema: GraphQLSchema): Set<string> {
  const found = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const nodes = [type.astNode, ...(type.extensionASTNodes ?? [])];
    if (nodes.some((n) => declaredPrivate(n?.directives))) found.add(type.name);
    if ('getFields' in type) {
      for (const field of Object.values(type.getFields())) {
        if (declaredPrivate(field.astNode?.directives)) found.add(`${type.name}.${field.name}`);
      }
    }
  }
  return found;
}

export function createPolicyAnalyzer(schema: GraphQLSchema) {
  const privates = privateCoordinates(schema);
  const memo = new WeakMap<DocumentNode, Map<string, OperationPolicy>>();

  function analyse(document: DocumentNode, operationName: string | null | undefined): OperationPolicy {
    const operation = document.definitions.find(
      (d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
    );
    const kind = operation && operation.kind === Kind.OPERATION_DEFINITION ? operation.operation : 'none';
    let scope: Scope = 'PUBLIC';
    const typeInfo = new TypeInfo(schema);
    // Fragments count whether or not the chosen operation spreads them: erring towards PRIVATE is safe.
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field() {
          const parent = typeInfo.getParentType();
          const field = typeInfo.getFieldDef();
          if (!parent || !field) return;
          if (privates.has(`${parent.name}.${field.name}`) || privates.has(getNamedType(field.type).name))
            scope = 'PRIVATE';
        },
      }),
    );
    return { kind, scope };
  }

  return (document: DocumentNode, operationName?: string | null): OperationPolicy => {
    let byName = memo.get(document);
    if (!byName) memo.set(document, (byName = new Map()));
    const name = operationName ?? '';
    let policy = byName.get(name);
    if (!policy) byName.set(name, (policy = analyse(document, operationName)));
    return policy;
  };
}
