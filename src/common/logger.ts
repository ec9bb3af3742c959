import type { LoggerService } from '@nestjs/common';
import pino from 'pino';
import type { LogLevel } from '../config/config.js';

export type AppLogger = pino.Logger;

/**
 * JSON logs (pino, Fastify's own logger): one object per line with `level`, `time` (ISO 8601),
 * `msg`, and for request logs the `request_id`. Authorization headers are redacted wherever a
 * serializer might meet them; the service never logs tokens itself.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): AppLogger {
  return pino(
    {
      level,
      base: { service: 'billing-service' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization'],
        censor: '[redacted]',
      },
    },
    // Asynchronous writes to stdout: under load, lines written while a write is pending go out
    // together (one syscall, not one per request); pino flushes what is left when the process exits.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

function text(message: unknown): string {
  return message instanceof Error ? message.message : String(message);
}

/** Nest's own messages (bootstrap, module wiring, shutdown) go to the same JSON log. */
export class NestLogger implements LoggerService {
  constructor(private readonly pino: AppLogger) {}

  private write(level: pino.Level, message: unknown, params: unknown[]): void {
    const context = typeof params.at(-1) === 'string' ? (params.at(-1) as string) : undefined;
    this.pino[level]({ context }, text(message));
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }
}
