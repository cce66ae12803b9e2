import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CdrArchive, type CdrArchiveOptions } from '../archive/archive.js';
import { CdrDispatcher, type CdrDispatcherOptions } from '../dispatch/dispatcher.js';
import { type CdrReceiverOptions, createCdrReceiver } from '../receiver/receiver.js';
import { CdrSpool } from '../spool/spool.js';

/** Options of {@link startCdrService}: the receiver's and the dispatcher's, plus where to listen and spool. */
export interface CdrServiceOptions
  extends Omit<CdrReceiverOptions, 'spool'>,
    Omit<CdrDispatcherOptions, 'spool' | 'archive'> {
  /** The spool directory. */
  spoolDir: string;
  /**
   * Keep delivered CDRs for re-push: a {@link CdrArchive} of yours, or its options (`{ dir, days, maxBytes }`;
   * it is then opened with the service's logger and registry, and closed with it). See `CdrDispatcherOptions.archive`.
   */
  archive?: CdrArchive | CdrArchiveOptions;
  /** fsync the spool (default true; see `CdrSpoolOptions.fsync`). */
  fsync?: boolean;
  /** TCP port; default 8080; 0 picks a free one. */
  port?: number;
  /** Address to listen on; default `127.0.0.1` (FreeSWITCH on the same machine). */
  host?: string;
}

/** A running receiver + spool + dispatcher. */
export interface CdrService {
  spool: CdrSpool;
  dispatcher: CdrDispatcher;
  /** The archive, when one was given. */
  archive: CdrArchive | undefined;
  server: Server;
  /** The URL to put in mod_xml_cdr's `url` (the `?uuid=` is added by FreeSWITCH). */
  url: string;
  /** Stops accepting requests, lets the ones in progress finish, stops the dispatcher, closes the spool. */
  close(): Promise<void>;
}

/**
 * Opens the spool, starts the dispatcher (which first delivers what an earlier run left in the spool) and an
 * HTTP server with the receiver: the whole pipeline in one call.
 */
export async function startCdrService(options: CdrServiceOptions): Promise<CdrService> {
  const { spoolDir, fsync, port = 8080, host = '127.0.0.1', archive: archiveOption, ...rest } = options;
  const spool = await CdrSpool.open({ dir: spoolDir, fsync, logger: rest.logger });
  const ownArchive = archiveOption !== undefined && !(archiveOption instanceof CdrArchive);
  let archive: CdrArchive | undefined;
  try {
    archive = ownArchive
      ? await CdrArchive.open({ logger: rest.logger, registry: rest.registry, ...archiveOption })
      : (archiveOption as CdrArchive | undefined);
  } catch (err) {
    await spool.close();
    throw err;
  }
  const dispatcher = new CdrDispatcher({ ...rest, spool, archive });
  await dispatcher.start();
  const handler = createCdrReceiver({ ...rest, spool });
  const server = createServer(handler);
  // FreeSWITCH posts multi-megabyte CDRs over slow links: do not cut them off by Node's request timeout.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    spool,
    dispatcher,
    archive,
    server,
    url: `http://${shownHost}:${address.port}${rest.path ?? '/cdr'}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await dispatcher.stop();
      if (ownArchive) await archive?.close();
      await spool.close();
    },
  };
}
