/** One pino logger for the process; pretty output when a terminal is reading it in development. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, pretty: boolean): Logger {
  return pino({
    level,
    base: undefined,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } }
      : {}),
  });
}

/**
 * yoga's own log calls, into pino. yoga logs at error level every error its masking replaced,
 * which are mostly the client's mistakes (bad input, a refused document) and, for the rest, were
 * already logged by the masking (src/http/mask-error.ts: faults at error, an unreachable database
 * at warn once per burst): those go to debug, so each request is logged once, at the level it
 * deserves. Anything else yoga calls an error stays one.
 */
export function yogaLogging(logger: Logger) {
  const text = (args: unknown[]) => args.map(String).join(' ');
  return {
    debug: (...args: unknown[]) => logger.debug(text(args)),
    info: (...args: unknown[]) => logger.info(text(args)),
    warn: (...args: unknown[]) => logger.warn(text(args)),
    error: (...args: unknown[]) => {
      if (args.length === 1 && args[0] instanceof Error) logger.debug(text(args));
      else logger.error(text(args));
    },
  };
}
