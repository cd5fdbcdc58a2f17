// The root of the ikc CLI: registers the commands, nothing else.
export async function main(argv: string[]): Promise<number> {
  void argv;
  return 0;
}
