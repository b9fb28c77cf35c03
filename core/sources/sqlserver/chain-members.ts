import { listSets } from '../../backup-set/catalog';
import { isSealedWithoutKeys, manifestOf, type Manifest } from '../../backup-set/manifest';
import { sealedFor } from '../../backup-set/sealed-read';
import { SealingError } from '../../sealing';
import type { ChainMember } from './lsn-chain';

/**
 * A SQL Server set as a link of a restore chain. A sealed set read without an identity has no
 * LSNs (they are in its sealed part): a clear error naming the keys it needs, never a TypeError.
 */
export function chainMemberOf(manifest: Manifest): ChainMember {
	const m = manifestOf(manifest, 'sqlserver');
	if (isSealedWithoutKeys(manifest))
		throw new SealingError(
			'NO_IDENTITIES',
			`Backup set ${m.backupId} is encrypted and its LSNs, which a restore chain or a differential or log backup builds on, are in its sealed part: it needs the private key of ${sealedFor(manifest).join(', ')}.`,
			"Give this host's TOTVS Backup Keys credential the Identity (AGE-SECRET-KEY-1…) of one of those keys: a sealed differential or log backup needs it on the backup host, as a sealed files incremental does. Or make a full backup, which builds on nothing.",
		);
	return {
		backupId: m.backupId,
		type: m.inventory.backup.backupType,
		copyOnly: m.inventory.backup.copyOnly,
		lsn: m.inventory.backup.lsn,
	};
}

/** The complete SQL Server sets of one database in `<root>/<environment>/`, with their folders. */
export async function sqlServerSetsOf(root: string, environment: string, database: string, serverName: string) {
	const catalog = await listSets(root, environment);
	return catalog.sets
		.filter((s) => s.manifest.engine === 'sqlserver')
		.filter((s) => {
			const m = manifestOf(s.manifest, 'sqlserver');
			return m.source.database === database && m.source.serverName === serverName;
		})
		.map((s) => ({ folder: s.folder, manifest: s.manifest, member: chainMemberOf(s.manifest) }));
}
