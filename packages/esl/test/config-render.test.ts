import { describe, expect, it } from 'vitest';
import { ConfigValidator, type DirectoryUser, type GatewayDef, mongoRenderer } from '../src/index.js';
import { sampleTree } from './fs-conf-tree.js';

/** An in-memory stand-in for a MongoDB collection: `find` with the `{ enabled: { $ne: false } }` filter. */
function collection<T extends { enabled?: boolean }>(docs: T[]) {
  return {
    filters: [] as unknown[],
    find(filter: Record<string, unknown>) {
      this.filters.push(filter);
      return { toArray: async () => docs.filter((d) => d.enabled !== false) };
    },
  };
}

describe('mongoRenderer', () => {
  it('renders user and gateway documents, leaving disabled ones out, into a tree that validates', async () => {
    const users = collection<DirectoryUser & { enabled?: boolean }>([
      {
        domain: 'mongo.example.com',
        id: '3001',
        params: { password: 'x' },
        variables: { user_context: 'default' },
      },
      { domain: 'mongo.example.com', id: '3002', params: { password: 'y' }, enabled: false },
    ]);
    const gateways = collection<GatewayDef & { enabled?: boolean }>([
      { profile: 'external', name: 'trunk', params: { realm: 'sip.trunk.example', register: 'false' } },
    ]);
    const files = await mongoRenderer({ users, gateways })();
    expect(users.filters).toEqual([{ enabled: { $ne: false } }]);
    expect(Object.keys(files).sort()).toEqual([
      'directory/mongo.example.com.xml',
      'directory/mongo.example.com/3001.xml',
      'sip_profiles/external/trunk.xml',
    ]);
    const config = new ConfigValidator().validate({ ...sampleTree(0), ...files });
    expect(config.sections.has('directory/mongo.example.com/user/3001')).toBe(true);
    expect(config.sections.has('sofia/external/gateway/trunk')).toBe(true);
  });
});
