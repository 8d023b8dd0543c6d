/// A fixed-capacity map that forgets its least recently used entry first: a dictionary into slots that form a
/// doubly linked list from oldest to newest, so lookups, inserts and evictions cost O(1). Not thread-safe by itself:
/// owners keep it behind a lock.
struct LRUStorage<Key: Hashable, Value> {
    private struct Slot {
        var key: Key
        var value: Value
        var older: Int?
        var newer: Int?
    }

    let capacity: Int
    private var index: [Key: Int] = [:]
    private var slots: [Slot] = []
    private var newest: Int?
    private var oldest: Int?

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { index.count }

    /// The value for `key`, marked as just used.
    mutating func value(for key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        unlink(slot)
        makeNewest(slot)
        return slots[slot].value
    }

    /// The value for `key` without marking it used.
    func peek(_ key: Key) -> Value? { index[key].map { slots[$0].value } }

    /// Stores `value` as the newest entry, evicting the oldest when full.
    mutating func store(_ value: Value, for key: Key) {
        if let slot = index[key] {
            slots[slot].value = value
            unlink(slot)
            makeNewest(slot)
            return
        }
        let slot: Int
        if slots.count < capacity {
            slot = slots.count
            slots.append(Slot(key: key, value: value))
        } else {
            // Full: the oldest entry's slot is reused.
            guard let oldest else { return }
            slot = oldest
            unlink(slot)
            // A slot parked by `remove` no longer owns its old key, which may live in another slot by now.
            if index[slots[slot].key] == slot { index[slots[slot].key] = nil }
            slots[slot] = Slot(key: key, value: value)
        }
        index[key] = slot
        makeNewest(slot)
    }

    /// Forgets `key`. Its slot stays allocated and is reused once the map is full.
    mutating func remove(_ key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        // Park the slot as the oldest so the next insert into a full map reuses it first.
        slots[slot].newer = oldest
        if let oldest { slots[oldest].older = slot }
        oldest = slot
        if newest == nil { newest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let entry = slots[slot]
        if let older = entry.older { slots[older].newer = entry.newer } else if oldest == slot { oldest = entry.newer }
        if let newer = entry.newer { slots[newer].older = entry.older } else if newest == slot { newest = entry.older }
        slots[slot].older = nil
        slots[slot].newer = nil
    }

    private mutating func makeNewest(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = nil
        if let newest { slots[newest].newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }
}
