/**
 * The name the lean hit gives a request that sends no operationName: the document's only
 * operation's, as yoga's request log names the same request's miss (fragments are not operations).
 */
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { soleOperationName } from '../../../src/cache/response/documents.js';

const nameOf = (text: string) => soleOperationName(parse(text));

describe('soleOperationName', () => {
  it("is the name of a document's only operation", () => {
    expect(nameOf('query Catalogue { brands { id } }')).toBe('Catalogue');
  });
  it('skips fragments, before or after the operation', () => {
    expect(nameOf('fragment B on Brand { id } query WithFragment { brands { ...B } }')).toBe('WithFragment');
    expect(nameOf('query WithFragment { brands { ...B } } fragment B on Brand { id }')).toBe('WithFragment');
  });
  it('is undefined for an anonymous operation, and for two operations (the request must name one)', () => {
    expect(nameOf('{ brands { id } }')).toBeUndefined();
    expect(nameOf('query A { brands { id } } query B { brands { name } }')).toBeUndefined();
  });
});
