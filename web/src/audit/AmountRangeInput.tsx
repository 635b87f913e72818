// The two bounds of an amount range (≥ / ≤) side by side, numeric keypad on phones: the audit
// search form (as a form field, value/onChange) and the inbox filter (applied on Enter or when the
// focus leaves the pair) use the same control.
import { Input, Space } from "antd";
import type { FocusEvent } from "react";

export interface AmountBoundsValue {
  min: string;
  max: string;
}

interface Props {
  value?: Partial<AmountBoundsValue>;
  onChange?: (value: AmountBoundsValue) => void;
  /** Enter in either box, or the focus leaving the pair (not moving from one box to the other). */
  onCommit?: (value: AmountBoundsValue) => void;
  minLabel: string;
  maxLabel: string;
  /** The pair's accessible name (the field, e.g. "投资总额（元）"). */
  label?: string;
  status?: "error";
  className?: string;
}

export function AmountRangeInput({ value, onChange, onCommit, minLabel, maxLabel, label, status, className }: Props) {
  const current: AmountBoundsValue = { min: value?.min ?? "", max: value?.max ?? "" };
  const leave = (e: FocusEvent<HTMLDivElement>) => {
    if (!e.currentTarget.contains(e.relatedTarget as Node | null)) onCommit?.(current);
  };
  const box = (which: "min" | "max", text: string) => (
    <Input
      inputMode="decimal"
      enterKeyHint={onCommit ? "search" : undefined}
      aria-label={text}
      placeholder={text}
      value={current[which]}
      status={status}
      aria-invalid={status === "error" || undefined}
      onChange={(e) => {
        const next = { ...current, [which]: e.target.value };
        onChange?.(next);
        if (e.type === "click") onCommit?.(next); // the clear icon: applied at once
      }}
      onPressEnter={onCommit ? () => onCommit(current) : undefined}
      allowClear={Boolean(onCommit)}
    />
  );
  return (
    <div role="group" aria-label={label} className={className} onBlur={onCommit ? leave : undefined}>
      <Space.Compact block>
        {box("min", minLabel)}
        {box("max", maxLabel)}
      </Space.Compact>
    </div>
  );
}
