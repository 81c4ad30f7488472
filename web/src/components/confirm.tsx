/**
 * A modal confirmation (Radix Dialog: focus trapped, Escape closes, labelled for screen readers).
 * Opened from state rather than a Dialog.Trigger, so it gives focus back itself to whatever had
 * it when it opened.
 */
import * as Dialog from '@radix-ui/react-dialog';
import { useRef, type ReactNode } from 'react';

export function Confirm({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm(): void;
  onCancel(): void;
}) {
  const opener = useRef<HTMLElement | null>(null);
  if (open && opener.current === null)
    opener.current = document.activeElement as HTMLElement | null;
  const restoreFocus = (event: Event) => {
    event.preventDefault();
    opener.current?.focus();
    opener.current = null;
  };
  return (
    <Dialog.Root open={open} onOpenChange={(next) => !next && onCancel()}>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="dialog" onCloseAutoFocus={restoreFocus}>
          <Dialog.Title>{title}</Dialog.Title>
          <Dialog.Description asChild>
            <div>{children}</div>
          </Dialog.Description>
          <div className="actions">
            <button type="button" className="primary" onClick={onConfirm}>
              {confirmLabel}
            </button>
            <Dialog.Close asChild>
              <button type="button">Cancel</button>
            </Dialog.Close>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
