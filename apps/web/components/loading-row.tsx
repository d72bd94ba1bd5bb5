/** Placeholder row while the first snapshot is on its way. */
export function LoadingRow({ columns }: { columns: number }) {
  return (
    <tr>
      <td colSpan={columns} className="table__empty">
        Loading…
      </td>
    </tr>
  );
}
