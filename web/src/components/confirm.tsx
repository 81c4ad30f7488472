/** A modal confirmation (Radix Dialog: focus trapped and restored, Escape closes, labelled for screen readers). */
import * as Dialog from '@radix-ui/react-dialog';
import type { ReactNode } from 'react';

export function Confirm({ open, title, children, confirmLabel, onConfirm, onCancel }: { open: boolean; title: string; children: ReactNode; confirmLabel: string; onConfirm(): void; onCancel(): void }) {
  return (
    <Dialog.Root open={open} onOpenChange={(next) => !next && onCancel()}>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>{title}</Dialog.Title>
          <Dialog.Description asChild><div>{children}</div></Dialog.Description>
          <div className="actions">
            <button type="button" className="primary" onClick={onConfirm}>{confirmLabel}</button>
            <Dialog.Close asChild><button type="button">Cancel</button></Dialog.Close>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
