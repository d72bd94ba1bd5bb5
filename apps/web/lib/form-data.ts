/** A text field's value from a submitted form; file inputs and missing fields read as ''. */
export function textField(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === 'string' ? value : '';
}
