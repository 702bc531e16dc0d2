System.Console.WriteLine("sna");
