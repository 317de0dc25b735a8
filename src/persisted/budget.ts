/**
 * How many APQ registrations one client address may make per minute
 * (PERSISTED_QUERIES_REGISTRATIONS_PER_MINUTE), in fixed one-minute windows counted by the login
 * throttle's counters: in Redis when there is one (shared by every instance), else in this process.
 * Addresses are keyed as the login throttle keys them (IPv6 by its /64); requests whose address is
 * unknown share one budget. Over budget, or when the counter cannot be reached, the query is still
 * executed, just not registered (the client keeps sending it): never an error.
 */
import { addressKey, type AttemptCounters } from '../auth/login-throttle.js';

export const DEFAULT_REGISTRATIONS_PER_MINUTE = 30;

/** Whether `address` may register one more document now; rejects when the counter cannot be reached. */
export type RegistrationBudget = (address: string | undefined) => Promise<boolean>;

export function registrationBudget(counters: Pick<AttemptCounters, 'take'>, perMinute: number): RegistrationBudget {
  return async (address) => {
    const [window] = await counters.take([`apq:${addressKey(address) ?? 'unknown'}`], 60_000);
    return window !== undefined && window.count <= perMinute;
  };
}
