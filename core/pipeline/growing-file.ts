/**
 * A file that is still being written, as seen by a reader that follows it (the upload that
 * sends an artifact while the dump writes it, upload-while-writing.ts). The writer reports how
 * many bytes are on the file so far (only bytes whose write has completed, so a reader sees
 * them), then the final size or its failure; a reader waits for more with `changed()`.
 *
 * The set writer announces each artifact file it starts to the watcher of the current
 * execution, if any (`withArtifactWatcher`), the way it finds the execution's keys.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export class GrowingFile {
	/** Bytes written to the file so far (readable by another file handle). */
	written = 0;
	/** The file's size once the writer finished it. */
	final: number | undefined;
	/** Set when the writer failed: the file will never be complete. */
	failed: unknown;
	private waiters: Array<() => void> = [];

	constructor(readonly file: string) {}

	/** True when nothing more will be written (finished or failed). */
	get ended(): boolean {
		return this.final !== undefined || this.failed !== undefined;
	}

	grew(bytes: number): void {
		this.written = bytes;
		this.wake();
	}

	finish(bytes: number): void {
		this.written = bytes;
		this.final = bytes;
		this.wake();
	}

	fail(error: unknown): void {
		this.failed = error ?? new Error(`${this.file} was not completed`);
		this.wake();
	}

	/** Resolves at the next change (growth, end or failure), at once when it has ended. */
	changed(): Promise<void> {
		if (this.ended) return Promise.resolve();
		return new Promise((resolve) => this.waiters.push(resolve));
	}

	private wake() {
		const waiters = this.waiters;
		this.waiters = [];
		for (const wake of waiters) wake();
	}
}

/** Where an artifact file of a set being written lies: set identity, path in the set, local file. */
export interface ArtifactFileInfo {
	environment: string;
	backupId: string;
	/** Path inside the set folder, as the manifest will record it ("/" separators). */
	path: string;
	growing: GrowingFile;
}

/** Told about each artifact file the set writer starts. */
export interface ArtifactWatcher {
	artifactStarted(info: ArtifactFileInfo): void;
}

const storage = new AsyncLocalStorage<ArtifactWatcher>();

/** Runs `fn` with `watcher` told about every artifact file a set writer created inside it starts. */
export function withArtifactWatcher<T>(watcher: ArtifactWatcher, fn: () => Promise<T>): Promise<T> {
	return storage.run(watcher, fn);
}

/** The watcher of the current execution, if any. */
export function currentArtifactWatcher(): ArtifactWatcher | undefined {
	return storage.getStore();
}
