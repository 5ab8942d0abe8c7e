import {describe, expect, it} from 'vitest';

import {DEFAULT_REDACTOR} from '../../src/redaction/redact.js';
import {REDACTION_VECTORS, type RedactionVector} from '../../src/redaction/vectors.js';

function apply(vector: RedactionVector): string[] {
  switch (vector.kind) {
    case 'argv':
      return DEFAULT_REDACTOR.argv(vector.input);
    case 'env':
      return [DEFAULT_REDACTOR.env(vector.input[0] ?? '', vector.input[1] ?? '')];
    default:
      return [DEFAULT_REDACTOR.value(vector.kind, vector.input[0] ?? '')];
  }
}

describe('redaction vectors', () => {
  it.each(REDACTION_VECTORS.map((v) => [`${v.kind}: ${v.note}`, v] as const))('%s', (_name, vector) => {
    expect(apply(vector)).toEqual(vector.output);
  });
});
