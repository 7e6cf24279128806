import { createContext, useContext } from 'react';
import type { ProjectSummary, Role } from '../api/types';

export interface ProjectState {
  project: ProjectSummary;
  projects: ProjectSummary[];
  reloadProjects: () => void;
}

export const ProjectContext = createContext<ProjectState | null>(null);

export function useProject(): ProjectState {
  const state = useContext(ProjectContext);
  if (!state) throw new Error('useProject outside a project route');
  return state;
}

/** What a role may change; the server enforces the same rules, the console only hides. */
export const can = {
  writeInsights: (role: Role) => role === 'admin' || role === 'analyst',
  admin: (role: Role) => role === 'admin',
};
