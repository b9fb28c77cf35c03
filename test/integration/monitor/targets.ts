/** Destinations for the Monitor's integration tests: a fresh local folder, a fresh folder on the test sshd. */
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BackupType, Component } from '../../../core/backup-set/ids';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import type { LocalFolderConfig, SftpConfig } from '../../../core/destinations';
import type { SshdServer } from '../../../support/sshd';
import { sampleManifest } from '../../fixtures/manifest';

export interface Root<C> {
	config: C;
	/** The root folder on this machine's disk (the sshd is local too). */
	path: string;
	/** Gives what the test wrote straight into the root to the destination's user (the sshd user). */
	own(): void;
	cleanup(): Promise<void>;
}

export function localRoot(): Root<LocalFolderConfig> {
	const folder = mkdtempSync(join(tmpdir(), 'totvs-monitor-dest-'));
	return {
		config: { type: 'local', folder },
		path: folder,
		own: () => undefined,
		cleanup: () => rm(folder, { recursive: true, force: true }),
	};
}

export function sftpRoot(sshd: SshdServer): Root<SftpConfig> {
	const folder = `monitor-${randomBytes(4).toString('hex')}`;
	const path = join(sshd.user.home, folder);
	mkdirSync(path);
	chownSync(path, sshd.user.uid, sshd.user.gid);
	return {
		config: {
			type: 'sftp',
			host: sshd.host,
			port: sshd.port,
			username: sshd.user.name,
			password: sshd.user.password,
			hostKeySha256: sshd.hostKeySha256,
			folder,
		},
		path,
		own: () => chownTree(path, sshd.user.uid, sshd.user.gid),
		cleanup: () => rm(path, { recursive: true, force: true }),
	};
}

/**
 * A small set with a real manifest written by the set writer (random artifact bytes), in the
 * `prod` environment of `root`: histories with chosen times, sizes and chains.
 */
export async function syntheticSet(
	root: string,
	type: BackupType,
	at: Date,
	options: { bytes?: number; base?: string | null; parent?: string | null; component?: Component } = {},
): Promise<{ folder: string; backupId: string }> {
	const set = await BackupSetWriter.create(root, 'prod', type, options.component ?? 'database', at);
	const artifact = await set.writeArtifact(
		'protheus.dump',
		'pg_dump-custom',
		Readable.from([randomBytes(options.bytes ?? 64)]),
	);
	await set.commit(
		sampleManifest({
			backupId: set.backupId,
			type,
			baseBackupId: options.base ?? null,
			parentBackupId: options.parent ?? options.base ?? null,
			startedAt: at.toISOString(),
			finishedAt: at.toISOString(),
			artifacts: [artifact],
		}),
	);
	return { folder: set.folder, backupId: set.backupId };
}

function chownTree(path: string, uid: number, gid: number): void {
	chownSync(path, uid, gid);
	for (const entry of readdirSync(path, { withFileTypes: true }))
		if (entry.isDirectory()) chownTree(join(path, entry.name), uid, gid);
		else chownSync(join(path, entry.name), uid, gid);
}
