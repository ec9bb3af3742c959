import { Writable } from 'node:stream';
import { type AppLogger, createLogger } from '../../src/common/logger.js';

/** A JSON logger whose lines are kept in memory, parsed, for assertions. */
export function capturedLog(): {
  logger: AppLogger;
  lines: Record<string, unknown>[];
  raw: string[];
} {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger('info', sink), lines, raw };
}
