/** The request id: a proxy's `x-request-id` when it is sane, otherwise a new one. */
import { randomUUID } from 'node:crypto';

export const requestIdFrom = (given: string | null | undefined): string =>
  given && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
