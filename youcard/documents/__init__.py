"""What the services print and hand out: letters, printed cards, credit notes, receipts,
SEPA files and CSV exports (PDF with Arabic shaping: pdf_text; CSV safe for spreadsheets:
spreadsheets)."""
