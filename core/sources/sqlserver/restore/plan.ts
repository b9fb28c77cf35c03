import { join } from 'node:path';
import { manifestOf, type Manifest } from '../../../backup-set/manifest';
import { chainMemberOf, sqlServerSetsOf } from '../chain-members';
import { planRestoreChain } from '../lsn-chain';

/** One set of a restore chain and the folder it lies in. */
export interface ChainSet {
	folder: string;
	manifest: Manifest;
}

/** The chain to restore to reach the set in `folder`, from the sets beside it (same environment). */
export async function planSqlServerRestore(folder: string, manifest: Manifest): Promise<ChainSet[]> {
	const m = manifestOf(manifest, 'sqlserver');
	const root = join(folder, '..', '..');
	const sets = await sqlServerSetsOf(root, m.environment, m.source.database, m.source.serverName);
	const target = chainMemberOf(manifest);
	const chain = planRestoreChain(
		target,
		sets.map((s) => s.member),
	);
	return chain.map((member) =>
		member.backupId === m.backupId ? { folder, manifest } : sets.find((s) => s.member.backupId === member.backupId)!,
	);
}
