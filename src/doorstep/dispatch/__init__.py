"""The live day: scan events folded into parcel, order, stop and route states; ETAs."""
