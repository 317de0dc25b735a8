import { forbidden, unauthenticated } from '../errors.js';
import type { Viewer } from '../auth/viewer.js';

export function requireUser(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}

export function requireAdmin(viewer: Viewer | null): Viewer {
  const v = requireUser(viewer);
  if (v.role !== 'ADMIN') throw forbidden();
  return v;
}
