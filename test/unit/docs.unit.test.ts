import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandPages, HELP_WIDTH, pagePath, usageBlock, withUsage } from '../../scripts/docs.js';

// The reference in docs/ shows each command's `--help` between generated markers. A new option
// (or a changed description or example) makes its page differ here until `npm run docs` is run.
describe('docs/ pages', () => {
  it('have a page for every command of src/cli.ts', async () => {
    const cli = await readFile(path.resolve(import.meta.dirname, '../../src/cli.ts'), 'utf8');
    const loaders = [...cli.matchAll(/^\s+(\w+): async \(\) => \(await import\('\.\/commands\//gm)].map((match) => match[1]);
    expect(loaders.length).toBeGreaterThan(5);
    expect(Object.keys(commandPages).sort()).toEqual([...loaders].sort());
  });

  it.each(Object.keys(commandPages))("docs/%s.md: its Usage block is the command's current --help (run `npm run docs` if not)", async (page) => {
    const text = await readFile(pagePath(page), 'utf8');
    const block = await usageBlock(page);
    // Compared as text so that a failure shows the lines that differ.
    expect(withUsage(page, text, block), `docs/${page}.md is out of date: run \`npm run docs\``).toBe(text);
    expect(block).toContain(`$ shopctl ${page} --help`);
  });

  it('renders help at a fixed width, whatever the terminal', async () => {
    const stdout = process.stdout as { columns?: number };
    const before = stdout.columns;
    try {
      stdout.columns = 40;
      const narrow = await usageBlock('list');
      stdout.columns = 200;
      const wide = await usageBlock('list');
      expect(narrow).toBe(wide);
      const longest = Math.max(...narrow.split('\n').map((line) => line.length));
      expect(longest).toBeGreaterThan(80); // wrapped at HELP_WIDTH, not at commander's 80
      expect(longest).toBeLessThanOrEqual(HELP_WIDTH);
    } finally {
      stdout.columns = before;
    }
  });

  it('replaces only the generated block, and refuses a page without markers', () => {
    const page = 'intro\n<!-- usage:begin (generated) -->\nold help\n<!-- usage:end -->\noutro\n';
    expect(withUsage('x', page, 'new help')).toBe('intro\n<!-- usage:begin (generated) -->\nnew help\n<!-- usage:end -->\noutro\n');
    expect(() => withUsage('x', 'no markers here\n', 'help')).toThrow(/docs\/x\.md has no '<!-- usage:begin/);
  });
});
