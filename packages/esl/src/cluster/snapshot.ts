import type { EslClient } from '../client.js';
import type { CommandOptions } from '../commands.js';
import { parseCallcenterList } from './callcenter-list.js';
import type { NodeSnapshot } from './types.js';

/** The events the view needs; `CUSTOM` last, since every word after it is a subclass to FreeSWITCH. */
export const CLUSTER_EVENTS: readonly string[] = [
  'CHANNEL_CREATE',
  'CHANNEL_DESTROY',
  'CHANNEL_STATE',
  'CHANNEL_CALLSTATE',
  'CHANNEL_ANSWER',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  'CHANNEL_BRIDGE',
  'CHANNEL_UNBRIDGE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_HOLD',
  'CHANNEL_UNHOLD',
  'CHANNEL_PARK',
  'CHANNEL_UNPARK',
  'CUSTOM',
  'sofia::register',
  'sofia::unregister',
  'sofia::expire',
  'callcenter::info',
];

/**
 * Asks one node for its state: `show channels/calls/registrations as json`, and when `module_exists
 * mod_callcenter` says `true`, the queue, agent and tier lists and each queue's members. The commands are
 * pipelined (FreeSWITCH answers them in order).
 */
export async function takeSnapshot(client: EslClient, options: CommandOptions = {}): Promise<NodeSnapshot> {
  const [channels, calls, registrations, callcenterLoaded] = await Promise.all([
    client.showChannels(options),
    client.showCalls(options),
    client.showRegistrations(options),
    client.api('module_exists mod_callcenter', options),
  ]);
  if (callcenterLoaded.trim() !== 'true') return { channels, calls, registrations };
  const list = async (command: string) => parseCallcenterList(await client.api(command, options), command);
  const [queues, agents, tiers] = await Promise.all([
    list('callcenter_config queue list'),
    list('callcenter_config agent list'),
    list('callcenter_config tier list'),
  ]);
  const members = (
    await Promise.all(queues.map((q) => list(`callcenter_config queue list members ${q.name ?? ''}`)))
  ).flat();
  return { channels, calls, registrations, callcenter: { queues, agents, tiers, members } };
}
