/**
 * Issue 11, item 1: Prune removes only unfinished folders it can prove are its own (a backup-ID
 * name of the environment AND the upload's in-progress marker inside); anything else under
 * `<root>/<environment>/` is reported in the result and never touched. A local-folder
 * destination, the same code path as every other backend.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDestination, type Destination } from '../../../core/destinations';
import { currentOwner } from '../../../core/locking/environment-lock';
import { pruneSets, uploadSet } from '../../../core/upload/set-transfer';
import { backdate, defaultPolicy, syntheticSet } from './sets';

let root: string;
let staging: string;
let destination: Destination;
const lock = { owner: currentOwner('prune-ownership'), options: { waitMs: 0 } };

beforeEach(() => {
	root = mkdtempSync(join(tmpdir(), 'totvs-prune-own-'));
	staging = mkdtempSync(join(tmpdir(), 'totvs-prune-own-staging-'));
	destination = openDestination({ type: 'local', folder: root });
});
afterEach(async () => {
	await destination.close();
	rmSync(root, { recursive: true, force: true });
	rmSync(staging, { recursive: true, force: true });
});

/** The destination, failing the upload of every manifest.json: an upload interrupted before its end. */
function failingAtManifest(target: Destination): Destination {
	return new Proxy(target, {
		get(object, property, receiver) {
			const value = Reflect.get(object, property, receiver);
			if (property !== 'put' || typeof value !== 'function') return value;
			return async (local: string, remote: string, ...rest: unknown[]) => {
				if (remote.endsWith('/manifest.json')) throw new Error('connection reset (simulated)');
				return value.apply(object, [local, remote, ...rest]);
			};
		},
	});
}

it('a default Prune never deletes a folder it did not create, and reports it; it cleans its own old unfinished upload', async () => {
	// A complete set uploaded today: something for the rules to keep.
	const kept = await syntheticSet(staging, new Date());
	await uploadSet(destination, kept.folder, { lock });

	// A DBA's folder next to the sets, three days old.
	const dba = join(root, 'prod', 'dba-scripts');
	mkdirSync(dba, { recursive: true });
	writeFileSync(join(dba, 'fix-sx2.sql'), 'UPDATE SX2010 SET X2_MODO = ...;\n');
	writeFileSync(join(dba, 'notes.txt'), 'do not delete\n');
	backdate(dba, 72);

	// An upload of ours interrupted three days ago: artifacts there, manifest never sent.
	const interrupted = await syntheticSet(staging, new Date(Date.now() - 72 * 3_600_000));
	await expect(uploadSet(failingAtManifest(destination), interrupted.folder, { lock })).rejects.toThrow(
		/connection reset/,
	);
	backdate(join(root, 'prod', interrupted.backupId), 72);

	// A folder named like a set of ours but without our marker (copied there by hand, say), three days old.
	const lookalike = join(root, 'prod', 'prod-20261001T000000Z-full-db');
	mkdirSync(lookalike);
	writeFileSync(join(lookalike, 'protheus.dump'), 'not ours to delete');
	backdate(lookalike, 72);

	const result = await pruneSets(destination, { environment: 'prod', policy: defaultPolicy, dryRun: false, lock });

	// Never touched:
	expect(readdirSync(dba).sort()).toEqual(['fix-sx2.sql', 'notes.txt']);
	expect(readdirSync(lookalike)).toEqual(['protheus.dump']);
	// ...and reported, with why:
	expect(result.ignored).toEqual([
		{ path: 'prod/dba-scripts', reason: expect.stringMatching(/not named like a backup set of prod/) },
		{ path: 'prod/prod-20261001T000000Z-full-db', reason: expect.stringMatching(/no in-progress marker/) },
	]);
	// Our own interrupted upload is cleaned:
	expect(result.deleted).toEqual([interrupted.backupId]);
	expect(existsSync(join(root, 'prod', interrupted.backupId))).toBe(false);
	expect(existsSync(join(root, 'prod', kept.backupId, 'manifest.json'))).toBe(true);
	// A complete upload leaves no marker behind.
	expect(readdirSync(join(root, 'prod', kept.backupId)).sort()).toEqual(['manifest.json', 'protheus.dump']);
});

it('a dry run reports the same foreign folders', async () => {
	mkdirSync(join(root, 'prod', 'dba-scripts'), { recursive: true });
	backdate(join(root, 'prod', 'dba-scripts'), 72);
	const result = await pruneSets(destination, { environment: 'prod', policy: defaultPolicy, dryRun: true, lock });
	expect(result.ignored).toEqual([{ path: 'prod/dba-scripts', reason: expect.any(String) }]);
	expect(result.plan.unfinished).toEqual([]);
	expect(existsSync(join(root, 'prod', 'dba-scripts'))).toBe(true);
});
