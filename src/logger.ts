import { pino, type Logger } from 'pino';

/** The one root logger; everything else logs through children of it with a typed scope. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'redial' },
    redact: {
      paths: [
        'req.headers["xi-api-key"]',
        'req.headers.authorization',
        '*.token',
        '*.password',
        '*.secrets',
        '*.credentials.password',
      ],
      censor: '[redacted]',
    },
  });
}
