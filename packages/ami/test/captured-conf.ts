import { type AmiMessage, AmiParser, ConfFile } from '@pbxkit/ami';
import { rx } from './fixtures.js';

/** The response with ActionID `id` in capture `capture`. */
export function capturedResponse(capture: string, id: string): AmiMessage {
  return new AmiParser().feed(rx(capture)).find((m) => m.actionId === id) as AmiMessage;
}

/**
 * The sip_additional.conf behind capture 12: its categories, with the template `tmpl` that [1004]
 * inherits its first nine lines from (GetConfig shows inherited lines inline and hides the template).
 */
export function capturedSipAdditional(): ConfFile {
  const conf = ConfFile.fromGetConfig(capturedResponse('12-getconfig-sip-additional', 'gc-1'));
  const peer = conf.category('1004');
  if (!peer) throw new Error('capture changed');
  const template = conf.addCategory('tmpl', { isTemplate: true, before: '1004' });
  template.lines = peer.lines.splice(0, 9);
  return conf;
}
