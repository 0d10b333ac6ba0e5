import { describe, expect, it } from 'vitest';
import { CONCERNS, codeLines, concernFiles } from '../../scripts/count-concerns.ts';

describe('count-concerns', () => {
  it('counts lines holding code, not comments or blank lines', () => {
    const text = [
      '/**',
      ' * A header.',
      ' */',
      "import { x } from './x.ts'; // trailing comment: the line counts",
      '',
      '   // a comment line',
      'const a = `one',
      'two ${x}',
      'three`;',
      '/* block */ const b = /re\\/x/.test(a);',
      '',
    ].join('\n');
    expect(codeLines(text)).toBe(5);
  });

  it('finds every concern\'s files by pattern, the order chart among them', () => {
    for (const [concern, patterns] of Object.entries(CONCERNS)) expect(concernFiles('./', patterns).length, concern).toBeGreaterThan(0);
    expect(concernFiles('./', CONCERNS['order service'])).toContain('src/machines/order.machine.ts');
    expect(concernFiles('./', ['src/machines/order.*.ts'])).not.toContain('src/machines/coordinator.machine.ts');
  });
});
