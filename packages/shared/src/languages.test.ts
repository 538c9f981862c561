import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findLanguageFile, languageFiles, parseLanguages } from './languages.js';

test('parseLanguages splits on + and drops repeats', () => {
  assert.deepEqual(parseLanguages('eng+deu+eng'), ['eng', 'deu']);
  assert.deepEqual(parseLanguages('chi_sim'), ['chi_sim']);
});

test('parseLanguages rejects what cannot be a language name', () => {
  for (const spec of ['', 'eng+', '../eng', 'eng deu', 'eng/deu']) {
    assert.throws(() => parseLanguages(spec), /not a language code/, spec);
  }
});

test('eng comes from the installed npm package', () => {
  assert.match(findLanguageFile('eng') ?? '', /@tesseract\.js-data\/eng\/4\.0\.0_best_int\/eng\.traineddata\.gz$/);
});

test('TESSDATA_DIR is searched first, plain or gzipped', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessdata-'));
  await writeFile(path.join(dir, 'eng.traineddata'), '');
  await writeFile(path.join(dir, 'deu.traineddata.gz'), '');
  const files = languageFiles('eng+deu', { tessdataDir: dir, model: 'fast' });
  assert.equal(files.get('eng'), path.join(dir, 'eng.traineddata'));
  assert.equal(files.get('deu'), path.join(dir, 'deu.traineddata.gz'));
  assert.throws(() => languageFiles('eng+xyz', { tessdataDir: dir }), /language xyz is not installed/);
});

test('the fast model comes from the system folder when installed there, else best_int from npm', async () => {
  const systemDir = await mkdtemp(path.join(os.tmpdir(), 'system-tessdata-'));
  await writeFile(path.join(systemDir, 'eng.traineddata'), '');
  assert.equal(findLanguageFile('eng', { model: 'fast', systemDir }), path.join(systemDir, 'eng.traineddata'));
  assert.match(findLanguageFile('eng', { model: 'best_int', systemDir }) ?? '', /4\.0\.0_best_int/);
  assert.match(
    findLanguageFile('eng', { model: 'fast', systemDir: path.join(systemDir, 'none') }) ?? '',
    /4\.0\.0_best_int/,
  );
});
