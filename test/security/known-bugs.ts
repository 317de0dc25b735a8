/**
 * Bugs the hostile-input fuzz found that are not fixed yet; none today. The three it found first
 * (non-JSON GET variables, variables nested thousands deep, NUL in text reaching SQL) are fixed, and
 * their reproductions in known-bugs.test.ts now pin the right behaviour. A new one gets an entry here
 * and an `it.fails` reproduction, flipped to `it` when fixed.
 *
 * The fuzz lets a bad answer through only when it matches one of these exactly: the request has the
 * bug's shape, every problem with the answer is the bug's symptom, and every internal error the
 * server logged during the run has the bug's cause. Anything else still fails the fuzz.
 */
import type { HostileRequest } from './hostile-requests.js';

export type KnownBug = {
  id: string;
  title: string;
  /** The request has the shape that triggers the bug. */
  shape(req: HostileRequest): boolean;
  /** A problem the judge reported is this bug's symptom. */
  symptom(problem: string): boolean;
  /** An error the server logged is this bug's cause. */
  cause(error: unknown): boolean;
};

export const KNOWN_BUGS: readonly KnownBug[] = [];

/** The known bug a bad answer is an instance of, if every one of its problems is that bug's symptom. */
export function knownBugOf(req: HostileRequest, problems: readonly string[]): KnownBug | undefined {
  return KNOWN_BUGS.find((bug) => bug.shape(req) && problems.length > 0 && problems.every(bug.symptom));
}
