import { BuildRepository, OperationRepository } from '@nco/cib';
import { createTestDatabase, TestDatabase } from '@nco/cib/testing';
import { BuildRequestBody, ModuleMetadata } from '@nco/events';
import { randomUUID } from 'node:crypto';
import { CatalogService } from '../catalog/catalog.service';
import { BuildQueueRepository } from '../queue/build-queue.repository';
import { BuildRequestService } from './build-request.service';

/**
 * An operator's security window, from the deploy request to the deployment rows: the request
 * service carries it in the build arguments, BuildRepository.record writes it on every new
 * deployment (security-svc challenges by it). Real CIB; the catalog and the queue are stubs.
 */
describe('BuildRequestService: the security window reaches the deployments', () => {
  let db: TestDatabase;
  let builds: BuildRepository;
  let service: BuildRequestService;
  const enqueued: string[] = [];
  const metadata: ModuleMetadata = {
    name: 'dns-tag', description: 'd', customizes: 'c', source: 'dns_tag.c', defaultActiveMode: 1, defaultPriority: null, params: [], inverse: {},
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    const operations = new OperationRepository(db.ds);
    builds = new BuildRepository(db.ds, operations);
    const catalog = { require: async () => ({ metadata }) } as unknown as CatalogService;
    const queue = { enqueue: async (id: string) => void enqueued.push(id) } as unknown as BuildQueueRepository;
    service = new BuildRequestService(catalog, operations, builds, queue);
  });
  afterAll(() => db.drop());
  beforeEach(async () => {
    await db.truncate();
    await db.ds.query(`INSERT INTO hosts (host_id, mac, release, online) SELECT h, '02:00:00:00:00:0' || h, '6.1.0', true FROM unnest($1::int[]) h`, [[1, 2]]);
  });

  /** Requests a deploy, then builds it as construct-svc's runner does (claim, record). */
  async function deploy(extra: Partial<BuildRequestBody>) {
    const body = BuildRequestBody.parse({ module: 'dns-tag', target: { hostIds: [1, 2] }, ...extra });
    const { operationId } = await service.request(body);
    expect(enqueued).toContain(operationId);
    const claims = await builds.claim(operationId);
    expect(claims).toHaveLength(2);
    await builds.record({
      operationId, moduleName: 'dns-tag', sourceSha256: 'a'.repeat(64), flavor: 'f1', args: claims[0].args,
      hosts: claims.map((c) => ({ pendingId: c.pendingId, hostId: c.hostId, keyId: randomUUID() })),
      produce: async (allocated) => allocated.map(() => ({ sha256: 'b'.repeat(64), size: 1, ref: 'stamp:test' })),
    });
    return db.ds.query(`SELECT host_id, security_window_s FROM deployments WHERE operation_id = $1 ORDER BY host_id`, [operationId]);
  }

  it('writes the window (ms rounded up to whole seconds) on every deployment of the request', async () => {
    expect(await deploy({ securityWindowMs: 2_500 })).toEqual([{ host_id: 1, security_window_s: 3 }, { host_id: 2, security_window_s: 3 }]);
  });

  it('leaves it NULL (security-svc\'s CHALLENGE_WINDOW_S) when the request gives none', async () => {
    expect(await deploy({})).toEqual([{ host_id: 1, security_window_s: null }, { host_id: 2, security_window_s: null }]);
  });

  it('refuses a window out of range at the contract', () => {
    for (const securityWindowMs of [999, 30 * 86_400_000 + 1, 1.5]) {
      expect(BuildRequestBody.safeParse({ module: 'dns-tag', target: { all: true }, securityWindowMs }).success).toBe(false);
    }
    expect(BuildRequestBody.safeParse({ module: 'dns-tag', target: { all: true }, securityWindowMs: 30 * 86_400_000 }).success).toBe(true);
  });
});
