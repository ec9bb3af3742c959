import os from 'node:os';
import type { Measurement } from './measurement.js';
import type { Invariants } from './seed.js';

/** A scenario's line: its figures, its limit and ratio, and the target it is held to. */
export interface Line extends Measurement {
  group: string;
  limit?: string;
  ratio?: number;
  target?: string;
  met?: boolean;
}

export interface Check {
  name: string;
  value: string;
  target: string;
  met: boolean | undefined;
}

export interface Report {
  date: string;
  mode: 'full' | 'smoke';
  machine: Record<string, string>;
  settings: Record<string, string | number>;
  lines: Line[];
  checks: Check[];
  invariants: Invariants;
}

export function machine(postgres: string, pgbench: string | undefined): Record<string, string> {
  const cpus = os.cpus();
  return {
    cpu: `${cpus.length} × ${cpus[0]?.model ?? 'unknown'}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres,
    pgbench: pgbench ?? 'not installed',
  };
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');
}

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined ? '' : value.toFixed(digits);
const verdict = (met: boolean | undefined): string =>
  met === undefined ? '' : met ? 'met' : 'NOT MET';

function tableRows(lines: Line[]): string[][] {
  return lines.map((l) => [
    l.group,
    l.name,
    fixed(l.rate, 0),
    fixed(l.p50, 1),
    fixed(l.p99, 1),
    String(l.errors),
    l.limit ?? '',
    l.ratio === undefined ? '' : `${l.ratio.toFixed(2)}×`,
    l.target ?? '',
    verdict(l.met),
  ]);
}

const HEADER = [
  'group',
  'scenario',
  'req/s',
  'p50 ms',
  'p99 ms',
  'errors',
  'limit',
  'ratio',
  'target',
  '',
];

export function consoleTable(report: Report): string {
  const rows = [HEADER, ...tableRows(report.lines)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const checks = report.checks.map(
    (c) => `${c.name}: ${c.value} (target ${c.target}) ${verdict(c.met)}`,
  );
  return [line(rows[0]), ...rows.slice(1).map(line), '', ...checks].join('\n');
}

export function markdown(report: Report): string {
  const md = (r: string[]) => `| ${r.join(' | ')} |`;
  const inv = report.invariants;
  return [
    '# Benchmarks',
    '',
    `Written by \`npm run bench${report.mode === 'smoke' ? ' -- --smoke' : ''}\` on ${report.date}. ` +
      'Every figure below was measured in this one run; nothing is copied or hard-coded.',
    '',
    '## Machine and settings',
    '',
    ...Object.entries({ ...report.machine, ...report.settings }).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## Results',
    '',
    'Each scenario ran for the same fixed duration at the same concurrency. `limit` names the ' +
      "scenario a line is compared with; `ratio` is its req/s over the limit's.",
    '',
    md(HEADER.slice(0, -1).concat('verdict')),
    md(HEADER.map(() => '---')),
    ...tableRows(report.lines).map(md),
    '',
    '## Other checks',
    '',
    md(['check', 'value', 'target', 'verdict']),
    md(['---', '---', '---', '---']),
    ...report.checks.map((c) => md([c.name, c.value, c.target, verdict(c.met)])),
    '',
    '## Invariants after the run (checked in the database)',
    '',
    `- accounts: ${inv.accounts}`,
    `- balance ≠ sum of its ledger amounts: ${inv.ledgerMismatches}`,
    `- current-month rollup ≠ ledger debits of the month: ${inv.rollupMismatches}`,
    `- negative balances: ${inv.negativeBalances}`,
    '',
  ].join('\n');
}
