/** Input rules shared by the write services; a failure is BAD_USER_INPUT naming the field. */
import { z } from 'zod';
import { AppError, badInput, sqlState } from '../errors.js';

export const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
export const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .nullish()
    .transform((v) => (v === '' ? null : v));

export const slug = z
  .string()
  .trim()
  .max(100)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be lowercase letters and digits joined by single hyphens');

export const founded = z
  .number()
  .int()
  .min(1800, 'must be 1800 or later')
  .max(new Date().getUTCFullYear(), 'must not be in the future')
  .nullish();

/** "2023-24": the second year must follow the first. */
export const seasonLabel = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}$/, 'must look like 2023-24')
  .refine((l) => (Number(l.slice(0, 4)) + 1) % 100 === Number(l.slice(5)), 'the second year must follow the first')
  .refine((l) => Number(l.slice(0, 4)) >= 1850 && Number(l.slice(0, 4)) <= 2100, 'must be between 1850 and 2100');

export const colours = z.array(text(30)).max(5, 'at most 5 colours');

export function validate<S extends z.ZodType>(schema: S, input: unknown, prefix = 'input'): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].join('.');
  throw badInput(`${field} ${issue.message}`, field);
}

/** An update input that changes nothing: the service answers the row as it is, without an UPDATE. */
export const changesNothing = (values: object): boolean => Object.keys(values).length === 0;

/** What to tell the client when a write breaks a unique constraint or a foreign key. */
export type ConstraintMessages = { unique?: string; inUse?: string };

/** Turns constraint violations into client errors; anything else stays internal. */
export function mapConstraintError(error: unknown, messages: ConstraintMessages): never {
  if (error instanceof AppError) throw error;
  const state = sqlState(error);
  if (state === '23505' && messages.unique) throw badInput(messages.unique);
  if (state === '23503' && messages.inUse) throw badInput(messages.inUse);
  throw error;
}
