import { AmiConnectionError } from '../errors.js';
import type { AmiClient } from './client.js';

/**
 * Connects `client` when it is not (Synch logs in on demand), waits for a reconnection in progress, and
 * refuses a closed client: whoever closed it is shutting down.
 */
export async function ensureConnected(client: AmiClient): Promise<void> {
  if (client.state === 'closed') throw new AmiConnectionError('the AMI client is closed');
  if (client.state !== 'connected') await client.connect();
}
