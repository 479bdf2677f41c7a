/// A binary min-heap of items by due time (monotonic ms); ties keep insertion order.
struct TimerHeap<Item: AnyObject> {
    private var entries: [(due: Int64, sequence: UInt64, item: Item)] = []
    private var sequence: UInt64 = 0

    func peek() -> (Item, Int64)? { entries.first.map { ($0.item, $0.due) } }

    mutating func insert(_ item: Item, due: Int64) {
        sequence += 1
        entries.append((due, sequence, item))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popFirst() -> Item? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let first = entries.removeLast()
        siftDown(from: 0)
        return first.item
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        (entries[a].due, entries[a].sequence) < (entries[b].due, entries[b].sequence)
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count && less(left, smallest) { smallest = left }
            if right < entries.count && less(right, smallest) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
