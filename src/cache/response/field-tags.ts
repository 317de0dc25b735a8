/**
 * List and by-id tags: the fields named in a table tag the entry of any operation that resolves
 * them, computed from their parent and arguments (`Query.kits(clubId: 3)` → `Kit.club:3`), so a
 * write can drop exactly the lists it may join. Entities shown are tagged separately, from the
 * result (plugins.ts).
 *
 * The tags are collected by wrapping the tagged fields' resolvers in a copy of the schema that
 * belongs to one cache instance; the schema it was given is left as it is, so apps sharing a schema
 * each tag by their own table.
 */
import { mapSchema, MapperKind } from '@graphql-tools/utils';
import { defaultFieldResolver, isObjectType, type GraphQLSchema } from 'graphql';

/** `Type.field` → the tags that field adds, from its parent and arguments. */
export type FieldTagTable = Record<
  string,
  (parent: Record<string, unknown>, args: Record<string, unknown>) => readonly string[]
>;

/** Throws when the table names a field the schema does not have: a misspelt row would tag nothing. */
function checkTable(schema: GraphQLSchema, table: FieldTagTable): void {
  for (const coordinate of Object.keys(table)) {
    const [typeName = '', fieldName = ''] = coordinate.split('.');
    const type = schema.getType(typeName);
    if (!type || !isObjectType(type) || !type.getFields()[fieldName]) {
      throw new Error(`the field tag table names ${coordinate}, which the schema does not have`);
    }
  }
}

/**
 * A copy of `schema` whose tagged fields report their tags, with the request's GraphQL context,
 * before resolving as before.
 */
export function tagFields(
  schema: GraphQLSchema,
  table: FieldTagTable,
  report: (context: unknown, tags: readonly string[]) => void,
): GraphQLSchema {
  checkTable(schema, table);
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const tagsOf = table[`${typeName}.${fieldName}`];
      if (!tagsOf) return field;
      const resolve = field.resolve ?? defaultFieldResolver;
      return {
        ...field,
        resolve: (parent, args, context, info) => {
          report(context, tagsOf(parent ?? {}, args));
          return resolve(parent, args, context, info);
        },
      };
    },
  });
}
