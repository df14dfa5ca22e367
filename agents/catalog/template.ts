/**
 * Prompt templates: `{{name}}` placeholders filled from a run's values. The
 * names a template may use are known, so a misspelt one is an error at load,
 * not a literal `{{taks}}` in a prompt.
 */

/** The values a run fills in, and what each is. */
export const PLACEHOLDERS = {
  task: 'the task as the user gave it (planner, synthesizer) or the subtask (workers)',
  agents: 'the agents a plan may assign, one line each: name, role, description (planner)',
  inputs: 'the results of the subtasks this one depends on (workers), or of every subtask (synthesizer)',
  expected_output: 'what the plan says this subtask must produce (workers)',
  error: 'why the previous plan was refused (planner, when asked to repair it)',
} as const;

export type Placeholder = keyof typeof PLACEHOLDERS;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Placeholders the template uses that no run fills, with their 0-based line in the template. */
export function unknownPlaceholders(template: string): Array<{ name: string; line: number }> {
  const unknown: Array<{ name: string; line: number }> = [];
  template.split('\n').forEach((text, line) => {
    for (const m of text.matchAll(PLACEHOLDER)) {
      const name = m[1] as string;
      if (!Object.hasOwn(PLACEHOLDERS, name)) unknown.push({ name, line });
    }
  });
  return unknown;
}

/** The template with each placeholder replaced (an absent value: empty). One pass, so values are never re-expanded. */
export function fillTemplate(template: string, values: Partial<Record<Placeholder, string>>): string {
  return template.replace(PLACEHOLDER, (_all, name: string) => (Object.hasOwn(values, name) ? (values[name as Placeholder] ?? '') : ''));
}
