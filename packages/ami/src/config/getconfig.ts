import type { AmiMessage } from '../protocol/message.js';
import { ConfCategory } from './conf-category.js';
import { ConfVariable } from './conf-lines.js';

/**
 * The categories of a `GetConfig` response. Keys are read by their numbers rather than their order, so a
 * `Templates-` line after the `Line-`s still lands on its category. Each line is split at its first `=`.
 */
export function confFromGetConfig(response: AmiMessage): ConfCategory[] {
  const byIndex = new Map<string, ConfCategory>();
  const order: ConfCategory[] = [];
  const categoryOf = (index: string): ConfCategory => {
    let category = byIndex.get(index);
    if (!category) {
      category = new ConfCategory('');
      byIndex.set(index, category);
      order.push(category);
    }
    return category;
  };
  const { keys, values } = response;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = values[i] as string;
    const dash = key.indexOf('-');
    if (dash === -1) continue;
    const kind = key.slice(0, dash).toLowerCase();
    const rest = key.slice(dash + 1);
    if (kind === 'category') categoryOf(rest).name = value;
    else if (kind === 'istemplate') categoryOf(rest).isTemplate = value === '1';
    else if (kind === 'templates') {
      categoryOf(rest).templates = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
    } else if (kind === 'line') {
      const cat = rest.slice(0, rest.indexOf('-'));
      const eq = value.indexOf('=');
      const line =
        eq === -1 ? new ConfVariable(value, '') : new ConfVariable(value.slice(0, eq), value.slice(eq + 1));
      categoryOf(cat).lines.push(line);
    }
  }
  return order;
}
