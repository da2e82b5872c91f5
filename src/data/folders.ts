// `--data a,b`: training data from several folders, in the order given.
export function dataFolders(data: string): string[] {
  return data.split(',').map((d) => d.trim()).filter(Boolean);
}
