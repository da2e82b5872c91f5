// Action datasets as UCF101 and HMDB51 ship them: one folder per class holding its videos, and
// optionally the split lists of UCF101's "ucfTrainTestlist" in the root:
//   classInd.txt      "1 ApplyEyeMakeup"            (1-based class index, class name)
//   trainlist01.txt   "ApplyEyeMakeup/v_x.avi 1"    (path under the root, optional class index)
//   testlist01.txt    "ApplyEyeMakeup/v_x.avi"      (the class is the folder)
// Without split lists every video is a training video and there is no test set. Every problem
// is a one-line SrError naming the file and line.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { SrError } from '../util/errors.js';
import { VIDEO_EXTENSIONS } from '../video/sequence_dataset.js';

export interface LabelledClip {
  /** absolute or root-joined path of the video */
  path: string;
  /** 0-based class index */
  label: number;
}

export interface ActionLayout {
  root: string;
  classes: string[];
  train: LabelledClip[];
  test: LabelledClip[];
  /** which split lists were read ('' when none) */
  split: string;
}

function lines(path: string): Array<[number, string]> {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((l, i): [number, string] => [i + 1, l.trim()])
    .filter(([, l]) => l.length > 0);
}

/** Reads `root` as an action dataset; `split` picks trainlist0<split>.txt / testlist0<split>.txt. */
export function readActionLayout(root: string, split = 1): ActionLayout {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new SrError(`--data ${root}: no such folder`);
  const folders = readdirSync(root)
    .filter((n) => !n.startsWith('.') && statSync(join(root, n)).isDirectory())
    .sort();
  const classInd = join(root, 'classInd.txt');
  let classes: string[];
  if (existsSync(classInd)) {
    classes = [];
    for (const [no, l] of lines(classInd)) {
      const m = /^(\d+)\s+(\S+)$/.exec(l);
      if (!m) throw new SrError(`${classInd}:${no}: expected "<index> <class>", got '${l}'`);
      if (Number(m[1]) !== classes.length + 1) throw new SrError(`${classInd}:${no}: class indices must run 1, 2, 3, ...; got ${m[1]} where ${classes.length + 1} was due`);
      if (!folders.includes(m[2]!)) throw new SrError(`${classInd}:${no}: class '${m[2]}' has no folder ${join(root, m[2]!)}`);
      classes.push(m[2]!);
    }
  } else {
    classes = folders;
  }
  if (classes.length < 2) {
    throw new SrError(`${root}: an action dataset needs at least 2 class folders of videos (<class>/<video>), found ${classes.length}`);
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const trainList = join(root, `trainlist${String(split).padStart(2, '0')}.txt`);
  const testList = join(root, `testlist${String(split).padStart(2, '0')}.txt`);
  const readList = (file: string): LabelledClip[] =>
    lines(file).map(([no, l]) => {
      const [rel, idx] = l.split(/\s+/);
      const cls = rel!.split('/')[0]!;
      const label = index.get(cls);
      if (label === undefined || !rel!.includes('/')) {
        throw new SrError(`${file}:${no}: '${rel}' is not in a known class folder (classes: ${classes.slice(0, 8).join(', ')}${classes.length > 8 ? ', ...' : ''})`);
      }
      if (idx !== undefined && Number(idx) !== label + 1) throw new SrError(`${file}:${no}: class index ${idx} does not match the folder '${cls}' (${label + 1} in classInd.txt)`);
      const path = join(root, rel!);
      if (!existsSync(path)) throw new SrError(`${file}:${no}: video ${path} does not exist`);
      return { path, label };
    });
  if (existsSync(trainList) !== existsSync(testList)) {
    throw new SrError(`${root}: found ${existsSync(trainList) ? trainList : testList} but not ${existsSync(trainList) ? testList : trainList}; give both split lists or neither`);
  }
  if (existsSync(trainList)) {
    const train = readList(trainList);
    const test = readList(testList);
    if (train.length === 0) throw new SrError(`${trainList} lists no videos`);
    return { root, classes, train, test, split: `${trainList}, ${testList}` };
  }
  const train: LabelledClip[] = [];
  for (const [label, cls] of classes.entries()) {
    const dir = join(root, cls);
    const videos = readdirSync(dir).filter((n) => VIDEO_EXTENSIONS.has(extname(n).toLowerCase())).sort();
    if (videos.length === 0) throw new SrError(`${dir}: class '${cls}' holds no videos (looked for ${[...VIDEO_EXTENSIONS].join(', ')})`);
    for (const v of videos) train.push({ path: join(dir, v), label });
  }
  return { root, classes, train, test: [], split: '' };
}
