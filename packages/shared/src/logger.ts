import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';

export type { Logger };

/** Whether log lines are made readable for a person rather than written as JSON. */
export function prettyLogs(format: Config['LOG_FORMAT'], stdoutIsTty = Boolean(process.stdout.isTTY)): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTty);
}

/**
 * One JSON line per event on stdout, for log collectors; readable lines when LOG_FORMAT says so
 * or, with `auto`, when a person is watching a terminal. Credentials never reach a line.
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>, name: string): Logger {
  const options = {
    name,
    level: config.LOG_LEVEL,
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
  };
  if (!prettyLogs(config.LOG_FORMAT)) return pino(options);
  return pino(options, pretty({ ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', sync: true }));
}
