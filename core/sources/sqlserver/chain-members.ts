import { listSets } from '../../backup-set/catalog';
import { manifestOf, type Manifest } from '../../backup-set/manifest';
import type { ChainMember } from './lsn-chain';

/** A SQL Server set as a link of a restore chain. */
export function chainMemberOf(manifest: Manifest): ChainMember {
	const m = manifestOf(manifest, 'sqlserver');
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
