// The README's usage section is the real `--help` output of every command (a unit test keeps it so).
import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { buildProgram } from '../src/cli/program.js';
import type { CliContext } from '../src/cli/context.js';
import { CHECKS } from '../src/checks/registry.js';

const README = new URL('../README.md', import.meta.url);
const BEGIN = '<!-- usage:begin -->';
const END = '<!-- usage:end -->';

async function helpOf(args: string[]): Promise<string> {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  const ctx: CliContext = {
    stdout: sink,
    stderr: sink,
    stdin: process.stdin,
    env: {},
    cwd: '/',
    prompt: undefined,
    exitCode: 0,
  };
  const program = await buildProgram(ctx, () => Promise.resolve(0));
  try {
    program.parse(['node', 'dts', ...args, '--help']);
  } catch {
    // commander throws after printing help (exitOverride)
  }
  return text.trimEnd();
}

/** The markdown between the usage markers. */
export async function usageMarkdown(): Promise<string> {
  const program = await buildProgram(
    {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: {},
      cwd: '/',
      prompt: undefined,
      exitCode: 0,
    },
    () => Promise.resolve(0),
  );
  const sections = [['$ dts --help', await helpOf([])]];
  for (const c of program.commands) sections.push([`$ dts ${c.name()} --help`, await helpOf([c.name()])]);
  return sections.map(([cmd, help]) => '```text\n' + cmd + '\n' + help + '\n```').join('\n\n');
}

const MODE_NAMES: Record<string, string> = { structure: 'S', full: 'F', 'full+incremental': 'I' };

/** The table of checks, from the registry itself. */
export function checksMarkdown(): string {
  const rows = CHECKS.map(
    (c) => `| \`${c.id}\` | ${c.title} | ${c.modes.map((m) => MODE_NAMES[m]).join(' ')} | ${c.severities} |`,
  );
  return [
    'Modes: S = structure, F = full, I = full+incremental. A check that does not apply to the mode is left out.',
    '',
    '| check | what | modes | severity |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function replaceBetween(text: string, begin: string, end: string, body: string): string {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`README.md has no ${begin} marker`);
  return text.slice(0, start + begin.length) + '\n\n' + body + '\n\n' + text.slice(stop);
}

export async function readmeWithUsage(readme: string): Promise<string> {
  const withChecks = replaceBetween(readme, '<!-- checks:begin -->', '<!-- checks:end -->', checksMarkdown());
  return replaceBetween(withChecks, BEGIN, END, await usageMarkdown());
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  writeFileSync(README, await readmeWithUsage(readFileSync(README, 'utf8')));
  console.log('README.md usage updated');
}
