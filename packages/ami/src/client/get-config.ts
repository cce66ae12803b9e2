import { ConfFile } from '../config/conf-file.js';
import type { AmiMessage } from '../protocol/message.js';
import type { AmiActionFields } from '../protocol/serialize.js';

/**
 * `GetConfig` of `filename` into a {@link ConfFile} whose inherited lines are marked. Asterisk shows them
 * inside each category, unmarked, and hides templates unless asked: a template the answer left out is
 * fetched with one more `GetConfig` (`Category: name`, `TEMPLATES=include`), all of them at once.
 */
export async function readConfig(
  action: (fields: AmiActionFields) => Promise<AmiMessage>,
  filename: string,
  options: { category?: string; filter?: string },
): Promise<ConfFile> {
  const response = await action({
    Action: 'GetConfig',
    Filename: filename,
    Category: options.category,
    Filter: options.filter,
  });
  const conf = ConfFile.fromGetConfig(response);
  const missing = new Map<string, string>();
  for (const c of conf.categories) {
    for (const t of c.templates) if (!conf.category(t)) missing.set(t.toLowerCase(), t);
  }
  if (missing.size === 0) return conf;
  const answers = await Promise.all(
    [...missing.values()].map((t) =>
      action({ Action: 'GetConfig', Filename: filename, Category: t, Filter: 'TEMPLATES=include' }),
    ),
  );
  // Asterisk inherits from the first category of the name.
  const templates = answers.flatMap((a) => ConfFile.fromGetConfig(a).categories.slice(0, 1));
  return ConfFile.fromGetConfig(response, templates);
}
