import { describe, expect, it } from 'vitest';
import { idProblem, idSchema, storeIdSchema } from '../../src/domain/events.js';

// The id schemas are one regular expression each (every event `consume` reads is checked with
// them); idProblem says the rule in words. Both must say the same of every value.
const samples = [
  '', 'a', ' a', 'a ', 'Store 12', 'SKU.1', 'münchen', 'تست', 'a$b', '$x', 'a:b', 'a/b',
  'x'.repeat(200), 'x'.repeat(201), '😀'.repeat(100), '😀'.repeat(101),
  'a\u0000', 'a\tb', 'a\u001b[31m', 'a\u0085', '\u00a0a', 'a\u2028', '\ufeffa', 'ok-1_2',
];

describe('the id rule', () => {
  it.each(samples.map((value) => [JSON.stringify(value), value]))('%s: the schemas and idProblem agree, and a refusal names the problem', (_, value) => {
    for (const [schema, kind] of [[idSchema, 'id'], [storeIdSchema, 'store']] as const) {
      const parsed = schema.safeParse(value);
      const problem = idProblem(value, kind);
      expect(parsed.success, `${kind}: ${problem}`).toBe(problem === null);
      if (!parsed.success) expect(parsed.error.issues[0]?.message).toContain(problem);
    }
  });

  it('what is not text is said so', () => {
    const parsed = idSchema.safeParse(5);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/Expected string, received number/);
  });
});
