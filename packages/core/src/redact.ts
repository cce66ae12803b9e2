/**
 * Text that is safe to show to whoever can read a health endpoint or an error answer: an absolute file path
 * becomes `<path>` (it tells an attacker the layout of the machine), and the password of a URL's user info
 * (`postgres://user:secret@host`) becomes `***`. Meant for messages of errors and health details, which often
 * carry both (`ENOSPC: no space left on device, write '/var/lib/pbxkit/…'`).
 *
 * @example
 * ```ts
 * redactText("EACCES: permission denied, open '/srv/rec/a.wav'"); // "EACCES: permission denied, open '<path>'"
 * ```
 */
export function redactText(text: string): string {
  return maskUrlPasswords(text).replace(/(^|[\s'"(=,[])\/[^\s'",)\]]*/g, '$1<path>');
}

/** Every URL's password in `text` as `***` (`postgres://user:secret@host/db` → `postgres://user:***@host/db`). */
export function maskUrlPasswords(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi, '$1$2:***@');
}
