#!/usr/bin/env node
// The `shopctl` command (package.json "bin"): node runs this file itself, so Ctrl-C and SIGTERM
// reach the process that handles them (`npm link`, then `shopctl …`; or `node bin/shopctl.js …`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    `error shopctl is not built: ${fileURLToPath(entry)} is missing\n` +
      `  hint: Run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))}, then run shopctl again.\n`,
  );
  process.exit(1);
}

// Under `npx shopctl …` (npm exec) this process is a grandchild of npm, through `sh -c`, and npm
// does not pass signals on: on SIGTERM it exits at once and this process would run on, an
// orphan (an `alerts --follow` did, for 15 minutes). So, under npm exec, losing the parent is
// taken as the SIGTERM it stands for: the command stops as it does on SIGTERM. Only when npm exec
// started shopctl itself (its script is `'shopctl' …`), not a process that started this one.
if (process.env.npm_command === 'exec' && /^'?shopctl(?:'|\s|$)/.test(process.env.npm_lifecycle_script ?? '')) {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 250);
  watch.unref();
}

await import(entry.href);
