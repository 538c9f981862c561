import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { languageFiles, type LanguageSources } from '@pagefleet/shared';

/**
 * A private folder where Tesseract finds `<lang>.traineddata` for every language asked of it: our
 * files come from several places (TESSDATA_DIR, Debian's folder, npm packages) while Tesseract
 * reads one folder. Each file is linked there once; `unzip` writes gzipped ones out plain, for
 * Tesseract's command (tesseract.js unzips by magic bytes itself).
 */
export class LanguageFolder {
  private dir: Promise<string> | undefined;
  private readonly placed = new Map<string, Promise<void>>();

  constructor(
    private readonly sources: LanguageSources,
    private readonly unzip = false,
  ) {}

  /** The folder, holding every language of `languages` (`eng+deu`); throws naming one not installed. */
  async holding(languages: string): Promise<string> {
    const dir = await this.folder();
    const files = languageFiles(languages, this.sources);
    await Promise.all([...files].map(([language, file]) => this.place(`${language}.traineddata`, file, dir)));
    return dir;
  }

  async remove(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    this.placed.clear();
    if (dir) await rm(await dir, { recursive: true, force: true });
  }

  private folder(): Promise<string> {
    return (this.dir ??= mkdtemp(path.join(os.tmpdir(), 'pagefleet-tessdata-')));
  }

  private place(name: string, file: string, dir: string): Promise<void> {
    let placed = this.placed.get(name);
    if (!placed) {
      const target = path.join(dir, name);
      placed =
        this.unzip && file.endsWith('.gz')
          ? pipeline(createReadStream(file), createGunzip(), createWriteStream(target))
          : symlink(file, target);
      this.placed.set(name, placed);
    }
    return placed;
  }
}
