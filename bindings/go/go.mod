module vecstore.dev/go/vecstore

go 1.19
