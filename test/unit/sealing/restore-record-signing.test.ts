import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSetKeys, withSetKeys } from '../../../core/backup-set/set-keys';
import { openDestination, type Destination } from '../../../core/destinations';
import { writeRestoreRecord } from '../../../core/restore-record';
import { verifyManifestSignature } from '../../../core/sealing';

const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const finishedAt = new Date('2026-11-29T04:10:00Z');
const input = {
	environment: 'prod',
	testedId: 'prod-20261126T020000Z-full-db',
	engine: 'postgres',
	passed: true,
	startedAt: new Date(finishedAt.getTime() - 600_000),
	finishedAt,
	fetchMs: 1,
	restoreMs: 2,
	checksMs: 3,
	restoredBytes: 4,
	checks: [],
	restoreServer: { engine: 'postgres', host: '127.0.0.1', port: 5432, target: 'totvs_rt_x' },
	sourceDestination: 'somewhere',
};

let root: string;
let destination: Destination;
beforeEach(async () => {
	root = await mkdtemp(join(tmpdir(), 'totvs-record-sign-'));
	destination = openDestination({ type: 'local', folder: root });
});
afterEach(async () => {
	await destination.close();
	await rm(root, { recursive: true, force: true });
});

describe('restore records and the execution keys', () => {
	it('are signed with the execution signing key, in the manifests format, verifiable by its public key', async () => {
		const keys = parseSetKeys({ signingKey });
		const written = await withSetKeys(keys, () => writeRestoreRecord(destination, input as never));
		expect(written.signaturePath).toBe(`${written.remotePath}.sig`);
		const record = await readFile(join(root, written.remotePath));
		const signature = await readFile(join(root, written.signaturePath!));
		expect(verifyManifestSignature(record, signature, [keys.signingKey!.publicKey]).keyFingerprint).toBe(
			keys.signingKey!.publicKey.fingerprint,
		);
	});

	it('stay unsigned without a signing key, as before', async () => {
		const written = await writeRestoreRecord(destination, input as never);
		expect(written.signaturePath).toBeUndefined();
	});
});
