/** True when `text` holds a C0 control character or DEL (a tab too, unless `allowTab`). */
export function hasControlCharacter(text: string, allowTab = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 || c === 0x7f) && !(allowTab && c === 0x09)) return true;
  }
  return false;
}
